"""A small home per language Home Assistant speaks, with names written in its own script.

Twelve names per language, in this order: three areas, a floor (holding the first two areas),
then the ceiling light (first area), the reading lamp (second), the kettle (first), the ceiling
fan (third), the blind (second), the television (second), the thermostat (third) and the front
door lock (no area). A name is a sentence template: `Кухн(я|е|ю)` is the kitchen in the forms a
sentence uses (the first form is the name); languages that inflect or attach articles and
particles list those forms, so the sentences made from Home Assistant's templates use them.
"""

from __future__ import annotations

from dataclasses import dataclass

AREAS = 3


@dataclass(frozen=True, slots=True)
class Role:
    """One entity of every language's home."""

    key: int
    """Its name's place in a language's spec."""
    entity_id: str
    domain: str
    area: int | None
    device_class: str | None = None


ROLES = (
    Role(4, "light.ceiling", "light", 0),
    Role(5, "light.reading", "light", 1),
    Role(6, "switch.kettle", "switch", 0),
    Role(7, "fan.ceiling", "fan", 2),
    Role(8, "cover.blind", "cover", 1, "blind"),
    Role(9, "media_player.tv", "media_player", 1, "tv"),
    Role(10, "climate.thermostat", "climate", 2),
    Role(11, "lock.front_door", "lock", None),
)


@dataclass(frozen=True, slots=True)
class HomeSpec:
    """A language's names: areas, the floor, and one per role (by `Role.key`)."""

    areas: tuple[str, ...]
    floor: str
    names: tuple[str, ...]
    floor_areas: tuple[int, ...] = (0, 1)


def home_spec(language: str) -> HomeSpec:
    """Return the home of `language` (English names for a language not written here)."""
    fields = tuple(part.strip() for part in _HOMES.get(language, _HOMES["en"]).split(";"))
    return HomeSpec(fields[:AREAS], fields[AREAS], fields)


_HOMES = {
    "af": "Kombuis; Sitkamer; Slaapkamer; Grondvloer; Plafonlig; Leeslamp; Ketel; Plafonwaaier;"
    " Blinder; Televisie; Termostaat; Voordeur",
    "ar": "(|ال|بال|في ال)مطبخ; غرفة المعيشة; غرفة النوم; الطابق الأرضي; ضوء السقف;"
    " مصباح القراءة; (|ال)غلاية; مروحة السقف; (|ال)ستارة; (|ال)تلفاز; منظم الحرارة;"
    " الباب الأمامي",
    "bg": "Кухн(я|ята); Хол(|а|ът); Спалн(я|ята); Приземен етаж; Лампа(|та) на тавана;"
    " Лампа(|та) за четене; Кана(|та); Вентилатор(|а|ът); Щор(а|ата|ите); Телевизор(|а|ът);"
    " Термостат(|а); Входна(|та) врата",
    "bn": "রান্নাঘর(|ে|ের); বসার ঘর(|ে|ের); শোবার ঘর(|ে|ের); নিচতলা(|য়); সিলিং লাইট;"
    " পড়ার বাতি; কেটলি; সিলিং ফ্যান; জানালার পর্দা; টেলিভিশন; থার্মোস্ট্যাট; সামনের দরজা",
    "ca": "Cuina; Sala d'estar; Dormitori; Planta baixa; Llum del sostre; Llum de lectura;"
    " Bullidor; Ventilador de sostre; Persiana; Televisor; Termòstat; Porta principal",
    "cs": "Kuchyn(ě|i); Obývák(|u); Ložnic(e|i); Přízemí; Stropní světl(o|a); Lampičk(a|u|y);"
    " Konvic(e|i); Stropní ventilátor(|u); Žaluzi(e|ie); Televiz(e|i); Termostat(|u);"
    " Vchodové dveře",
    "cy": "(C|G|Ngh)egin; Lolfa; Ystafell wely; Llawr gwaelod; Golau nenfwd; Lamp ddarllen;"
    " Tegell; Ffan nenfwd; Bleind; Teledu; Thermostat; Drws ffrynt",
    "da": "Køkken(|et); Stue(|n); Soveværelse(|t); Stueetage(|n); Loftlampe(|n); Læselampe(|n);"
    " Elkedel(|en); Loftventilator(|en); Rullegardin(|et); TV(|'et|et); Termostat(|en);"
    " Hoveddør(|en)",
    "de": "Küche; Wohnzimmer; Schlafzimmer; Erdgeschoss; Deckenlicht; Leselampe; Wasserkocher;"
    " Deckenventilator; Rollladen; Fernseher; Thermostat; Haustür",
    "de-CH": "Chuchi; Stube; Schlafzimmer; Erdgeschoss; Deckelampe; Läselampe; Wasserkocher;"
    " Ventilator; Storen; Fernseh; Thermostat; Huustüre",
    "el": "Κουζίν(α|ας); Σαλόνι(|ου); Υπνοδωμάτι(ο|ου); Ισόγει(ο|ου); Φως οροφής; Πορτατίφ;"
    " Βραστήρα(ς|); Ανεμιστήρα(ς|) οροφής; Ρολό; Τηλεόραση(|ς); Θερμοστάτη(ς|); Εξώπορτα",
    "en": "Kitchen; Living room; Bedroom; Ground floor; Ceiling light; Reading lamp; Kettle;"
    " Ceiling fan; Window blind; Television; Thermostat; Front door",
    "es": "Cocina; Salón; Dormitorio; Planta baja; Luz del techo; Lámpara de lectura; Hervidor;"
    " Ventilador de techo; Persiana; Televisor; Termostato; Puerta principal",
    "et": "Kö(ök|ögis|ögi); Elut(uba|oas); Magamist(uba|oas); Esimene korrus; Laevalgusti;"
    " Lugemislamp(|i); Veekeetja; Laeventilaator(|it); Ruloo; Teler(|it); Termostaat(|i);"
    " Välisuks",
    "eu": "Sukalde(a|an|ko); Egongela(|n|ko); Logela(|n|ko); Beheko solairua; Sabaiko argia;"
    " Irakurketa lanpara; Irakinontzia; Sabaiko haizagailua; Pertsiana; Telebista;"
    " Termostatoa; Atea",
    "fa": "آشپزخانه; اتاق نشیمن; اتاق خواب; طبقه همکف; چراغ سقفی; چراغ مطالعه; کتری;"
    " پنکه سقفی; پرده; تلویزیون; ترموستات; در ورودی",
    "fi": "Keittiö(|ssä|n|stä); Olohuone(|essa|en); Makuuhuone(|essa|en);"
    " Pohjakerros|Pohjakerroksessa; Kattovalo(|n|a); Lukulamppu|Lukulampun|Lukulamppua;"
    " Vedenkeitin|Vedenkeittimen; Kattotuuletin|Kattotuulettimen; Rullaverho(|n|t);"
    " Televisio(|n|ta); Termostaatti|Termostaatin; Etuovi|Etuoven",
    "fr": "Cuisine; Salon; Chambre; Rez-de-chaussée; Plafonnier; Lampe de lecture; Bouilloire;"
    " Ventilateur de plafond; Store; Télévision; Thermostat; Porte d'entrée",
    "ga": "(C|Ch)istin(|e); Seomra suí; Seomra leapa; Urlár talún; Solas síleála;"
    " Lampa léitheoireachta; Citeal; Fean síleála; Dallóg; Teilifís; Teirmeastat;"
    " Doras tosaigh",
    "gl": "Cociña; Salón; Dormitorio; Planta baixa; Luz do teito; Lámpada de lectura; Fervedor;"
    " Ventilador de teito; Persiana; Televisor; Termostato; Porta principal",
    "gu": "રસોડું|રસોડામાં; બેઠક ખંડ(|માં); શયનખંડ(|માં); ભોંયતળિયું; છતની લાઇટ; વાંચન લેમ્પ;"
    " કીટલી; છતનો પંખો; પડદો; ટીવી; થર્મોસ્ટેટ; આગળનો દરવાજો",
    "he": "(|ה|ב|ל)מטבח; (|ה|ב|ל)סלון; חדר (|ה)שינה; קומת (|ה)קרקע; מנורת (|ה)תקרה;"
    " מנורת (|ה)קריאה; (|ה|את ה)קומקום; מאוורר (|ה)תקרה; (|ה|את ה)תריס; (|ה|את ה)טלוויזיה;"
    " (|ה)תרמוסטט; דלת (|ה)כניסה",
    "hi": "रसोई; बैठक; शयनकक्ष; भूतल; छत की लाइट; पढ़ने का लैंप; केतली; छत का पंखा; पर्दा; टीवी;"
    " थर्मोस्टेट; मुख्य दरवाज़ा",
    "hr": "Kuhinj(a|i|u); Dnevn(i|om) boravak|Dnevnom boravku; Spavać(a|oj) sob(a|i);"
    " Prizemlj(e|u); Stropn(o|og) svjetl(o|a); Lamp(a|u|e) za čitanje; Kuhal(o|a) za vodu;"
    " Stropn(i|og) ventilator(|a); Rolet(a|u|e); Televizor(|a); Termostat(|a);"
    " Ulazn(a|u) vrat(a|ima)",
    "hu": "Konyha|Konyhában|Konyhát; Nappali|Nappaliban; Hálószoba|Hálószobában;"
    " Földszint|Földszinten; Mennyezeti lámpa|Mennyezeti lámpát; Olvasólámpa|Olvasólámpát;"
    " Vízforraló|Vízforralót; Mennyezeti ventilátor|Mennyezeti ventilátort; Redőny|Redőnyt;"
    " Televízió|Televíziót; Termosztát|Termosztátot; Bejárati ajtó|Bejárati ajtót",
    "hy": "Խոհանոց(|ը|ում); Հյուրասենյակ(|ը|ում); Ննջասենյակ(|ը|ում); Առաջին հարկ(|ը|ում);"
    " Առաստաղի լույս(|ը); Ընթերցանության լամպ(|ը); Թեյնիկ(|ը); Առաստաղի օդափոխիչ(|ը);"
    " Շերտավարագույր(|ը); Հեռուստացույց(|ը); Թերմոստատ(|ը); Մուտքի դուռ(|ը)",
    "id": "Dapur; Ruang tamu; Kamar tidur; Lantai dasar; Lampu plafon; Lampu baca; Ketel;"
    " Kipas angin plafon; Tirai; Televisi; Termostat; Pintu depan",
    "is": "Eldhús(|ið|inu); Stofa|Stofunni|Stofan; Svefnherbergi(|ð|nu); Jarðhæð(|in|inni);"
    " Loftljós(|ið); Leslamp(i|ann|anum); Ketil(l|linn); Loftvift(a|una); Gluggatjald(|ið);"
    " Sjónvarp(|ið|inu); Hitastilli(r|nn); Útidyr(|nar)",
    "it": "Cucina; Soggiorno; Camera da letto; Piano terra; Luce del soffitto;"
    " Lampada da lettura; Bollitore; Ventilatore da soffitto; Tapparella; Televisore;"
    " Termostato; Porta d'ingresso",
    "ja": "キッチン; リビング; 寝室; 一階; シーリングライト; 読書灯; 電気ケトル; シーリングファン;"
    " ブラインド; テレビ; サーモスタット; 玄関ドア",
    "ka": "სამზარეულო(|ში); მისაღები ოთახი|მისაღებ ოთახში; საძინებელ(ი|ში);"
    " პირველი სართული|პირველ სართულზე; ჭერის სანათ(ი|ს); საკითხავი ლამპა|საკითხავ ლამპას;"
    " ჩაიდან(ი|ს); ჭერის ვენტილატორ(ი|ს); ჟალუზ(ი|ს); ტელევიზორ(ი|ს); თერმოსტატ(ი|ს);"
    " შესასვლელი კარი",
    "kn": "ಅಡುಗೆಮನೆ(|ಯ|ಯಲ್ಲಿ); ಲಿವಿಂಗ್ ರೂಮ್; ಮಲಗುವ ಕೋಣೆ(|ಯ); ನೆಲ ಮಹಡಿ; ಸೀಲಿಂಗ್ ಲೈಟ್;"
    " ಓದುವ ದೀಪ; ಕೆಟಲ್; ಸೀಲಿಂಗ್ ಫ್ಯಾನ್; ಪರದೆ; ಟಿವಿ; ಥರ್ಮೋಸ್ಟಾಟ್; ಮುಂಬಾಗಿಲು",
    "ko": "주방; 거실; 침실; 1층; 천장 조명; 독서등; 전기 주전자; 천장 선풍기; 블라인드; 텔레비전;"
    " 온도 조절기; 현관문",
    "kw": "(K|G)eginn; Stevel esedh; Chambour; Leur isel; Golow an nen; Lugarn redya; Kaltor;"
    " Gwynsell; Kroglen; Pellwolok; Termostat; Daras a-rag",
    "lb": "Kichen; Wunnzëmmer; Schlofzëmmer; Rez-de-chaussée; Plafongsluucht; Liesluucht;"
    " Waasserkacher; Ventilateur; Rollluet; Televisioun; Thermostat; Haustür",
    "lt": "Virtuv(ė|ėje|ę); Svetain(ė|ėje|ę); Miegam(asis|ajame|ąjį); Pirm(as|ame) aukšt(as|e);"
    " Lubų šviestuv(as|ą|o); Skaitymo lemp(a|ą|os); Virdul(ys|į|io);"
    " Lubų ventiliator(ius|ių|iaus); Žaliuz(ės|es|ių); Televizori(us|ų); Termostat(as|ą|o);"
    " Lauko dur(ys|is|ų)",
    "lv": "Virtuv(e|ē|i); Dzīvojam(ā|ajā) istab(a|ā); Guļamistab(a|ā|u); Pirm(ais|ajā) stāv(s|ā);"
    " Griestu lamp(a|u|as); Lasāmlamp(a|u|as); Tējkann(a|u|as); Griestu ventilator(s|u|a);"
    " Žalūzij(as|ām); Televizor(s|u|a); Termostat(s|u|a); Ārdurvis",
    "ml": "അടുക്കള(|യിലെ|യിൽ); സ്വീകരണമുറി(|യിലെ|യിൽ); കിടപ്പുമുറി(|യിലെ|യിൽ); താഴത്തെ നില;"
    " സീലിംഗ് ലൈറ്റ്; വായനാ വിളക്ക്; കെറ്റിൽ; സീലിംഗ് ഫാൻ; മറ; ടിവി; തെർമോസ്റ്റാറ്റ്;"
    " മുൻവാതിൽ",
    "mn": "Гал тогоо(|ны); Зочны өрөө(|ний); Унтлагын өрөө(|ний); Нэгдүгээр давхар(|ын);"
    " Таазны гэрэл(|ийг); Уншлагын чийдэн(|г); Данх(|ыг); Таазны сэнс(|ийг); Хөшиг(|ийг);"
    " Зурагт(|ыг); Термостат(|ыг); Үүд(|ийг)",
    "ms": "Dapur; Ruang tamu; Bilik tidur; Tingkat bawah; Lampu siling; Lampu membaca; Cerek;"
    " Kipas siling; Bidai; Televisyen; Termostat; Pintu depan",
    "nb": "Kjøkken(|et); Stue(|a|n); Soverom(|met); Første etasje; Taklampe(|n|a);"
    " Leselampe(|n|a); Vannkoker(|en); Takvifte(|n|a); Rullegardin(|en|a); TV(|en);"
    " Termostat(|en); Ytterdør(|a|en)",
    "ne": "भान्सा(|को|मा); बैठक कोठा(|को|मा); सुत्ने कोठा(|को|मा); भुइँ तल्ला(|को|मा);"
    " सिलिङ बत्ती; पढ्ने बत्ती; केतली; सिलिङ पंखा; पर्दा; टिभी; थर्मोस्टेट; मूल ढोका",
    "nl": "Keuken; Woonkamer; Slaapkamer; Begane grond; Plafondlamp; Leeslamp; Waterkoker;"
    " Plafondventilator; Rolgordijn; Televisie; Thermostaat; Voordeur",
    "pa": "ਰਸੋਈ; ਬੈਠਕ; ਸੌਣ ਵਾਲਾ ਕਮਰਾ; ਜ਼ਮੀਨੀ ਮੰਜ਼ਿਲ; ਛੱਤ ਦੀ ਲਾਈਟ; ਪੜ੍ਹਨ ਵਾਲਾ ਲੈਂਪ; ਕੇਤਲੀ;"
    " ਛੱਤ ਵਾਲਾ ਪੱਖਾ; ਪਰਦਾ; ਟੀਵੀ; ਥਰਮੋਸਟੈਟ; ਮੁੱਖ ਦਰਵਾਜ਼ਾ",
    "pl": "Kuchni(a|i); Salon(|ie|u); Sypialni(a|i); Parter(|ze); Lamp(a|ę|y) sufitow(a|ą|ej);"
    " Lampk(a|ę|i) do czytania; Czajnik(|a); Wentylator(|a) sufitow(y|ego); Rolet(a|ę|y);"
    " Telewizor(|a); Termostat(|u); Drzwi wejściowe",
    "pt": "Cozinha; Sala de estar; Quarto; Rés do chão; Luz do teto; Candeeiro de leitura;"
    " Chaleira; Ventoinha de teto; Estore; Televisão; Termóstato; Porta da frente",
    "pt-BR": "Cozinha; Sala de estar; Quarto; Térreo; Luz do teto; Luminária de leitura;"
    " Chaleira; Ventilador de teto; Persiana; Televisão; Termostato; Porta da frente",
    "ro": "Bucătări(e|a); Sufrageri(e|a); Dormitor(|ul); Parter(|ul); Lustr(a|ă); Veioz(a|ă);"
    " Fierbător(|ul); Ventilator(|ul) de tavan; Jaluzel(e|ele); Televizor(|ul); Termostat(|ul);"
    " Uș(a|ă) de la intrare",
    "ru": "Кухн(я|е|ю|и); Гостин(ая|ой|ую); Спальн(я|е|ю); Первы(й|м) этаж(|е); Люстр(а|у|ы);"
    " Ночн(ая|ую|ой) ламп(а|у|ы); Чайник(|а|у); Вентилятор(|а|у); Жалюзи; Телевизор(|а|у);"
    " Термостат(|а|у); Входн(ая|ую) двер(ь|и)",
    "sk": "Kuchyn(ka|ke|ku); Obývačk(a|e|u); Spáln(a|i|u); Prízem(ie|í); Stropn(é|ého) svetl(o|a);"
    " Lampičk(a|u|y) na čítanie; Kanvic(a|u|e); Stropn(ý|ého) ventilátor(|a); Žalúzi(e|ie);"
    " Televízor(|a); Termostat(|u); Vchodové dvere",
    "sl": "Kuhinj(a|i|o); Dnevn(a|i|o) sob(a|i|o); Spalnic(a|i|o); Pritličj(e|u);"
    " Stropn(a|o|e) luč(|i); Bralna svetilka|Bralno svetilko; Grelnik(|a) vode;"
    " Stropni ventilator(|ja); Rolet(a|o|e); Televizor(|ja); Termostat(|a); Vhodna vrata",
    "sr": "Кухињ(а|и|у); Дневн(а|ој|у) соб(а|и|у); Спаваћ(а|ој|у) соб(а|и|у); Приземљ(е|у);"
    " Плафоњер(а|у|е); Ламп(а|у) за читање; Кувал(о|а) за воду; Вентилатор(|а); Ролетн(а|у|е);"
    " Телевизор(|а); Термостат(|а); Улазн(а|у) врат(а|има)",
    "sr-Latn": "Kuhinj(a|i|u); Dnevn(a|oj|u) sob(a|i|u); Spavać(a|oj|u) sob(a|i|u);"
    " Prizemlj(e|u); Plafonjer(a|u|e); Lamp(a|u) za čitanje; Kuval(o|a) za vodu;"
    " Ventilator(|a); Roletn(a|u|e); Televizor(|a); Termostat(|a); Ulazn(a|u) vrat(a|ima)",
    "sv": "Kök(|et); Vardagsrum(|met); Sovrum(|met); Bottenvåning(|en); Taklamp(a|an);"
    " Läslamp(a|an); Vattenkokare(|n); Takfläkt(|en); Rullgardin(|en); TV(|n|:n);"
    " Termostat(|en); Ytterdörr(|en)",
    "sw": "Jiko(|ni); Sebule(|ni); Chumba cha kulala; Ghorofa ya chini; Taa ya dari;"
    " Taa ya kusoma; Birika; Feni ya dari; Pazia; Televisheni; Kidhibiti joto; Mlango wa mbele",
    "ta": "சமையலறை(|யில்|யின்); வரவேற்பறை(|யில்|யின்); படுக்கையறை(|யில்|யின்); தரை தளம்;"
    " கூரை விளக்கு; வாசிப்பு விளக்கு; கெட்டில்; கூரை மின்விசிறி; திரைச்சீலை; தொலைக்காட்சி;"
    " வெப்பநிலை சீராக்கி; முன் கதவு",
    "te": "వంటగది(|లో|లోని); హాల్(|లో|లోని); పడకగది(|లో|లోని); గ్రౌండ్ ఫ్లోర్; సీలింగ్ లైట్;"
    " చదువు దీపం; కెటిల్; సీలింగ్ ఫ్యాన్; తెర; టీవీ; థర్మోస్టాట్; ముందు తలుపు",
    "th": "ห้องครัว; ห้องนั่งเล่น; ห้องนอน; ชั้นล่าง; ไฟเพดาน; โคมไฟอ่านหนังสือ; กาต้มน้ำ;"
    " พัดลมเพดาน; มู่ลี่; โทรทัศน์; เทอร์โมสตัท; ประตูหน้า",
    "tr": "Mutfak|Mutfakta|Mutfağın; Salon(|da|un); Yatak odası|Yatak odasında;"
    " Zemin kat|Zemin katta; Tavan lambası|Tavan lambasını; Okuma lambası|Okuma lambasını;"
    " Su ısıtıcısı|Su ısıtıcısını; Tavan vantilatörü|Tavan vantilatörünü; Jaluzi|Jaluziyi;"
    " Televizyon(|u); Termostat(|ı); Ön kapı|Ön kapıyı",
    "uk": "Кухн(я|і|ю); Вітальн(я|і|ю); Спальн(я|і|ю); Перший поверх|Першому поверсі;"
    " Люстр(а|у|и); Нічн(а|у|ої) ламп(а|у|и); Чайник(|а|у); Вентилятор(|а|у); Жалюзі;"
    " Телевізор(|а|у); Термостат(|а|у); Вхідн(і|их) двер(і|ей)",
    "ur": "باورچی خانہ; بیٹھک; سونے کا کمرہ; گراؤنڈ فلور; چھت کی بتی; مطالعے کا لیمپ; کیتلی;"
    " چھت کا پنکھا; پردہ; ٹی وی; تھرموسٹیٹ; سامنے کا دروازہ",
    "vi": "Nhà bếp; Phòng khách; Phòng ngủ; Tầng trệt; Đèn trần; Đèn đọc sách; Ấm đun nước;"
    " Quạt trần; Rèm; Tivi; Bộ điều nhiệt; Cửa chính",
    "zh-CN": "厨房; 客厅; 卧室; 一楼; 主灯; 阅读灯; 电水壶; 吊扇; 百叶窗; 电视; 温控器; 前门",
    "zh-HK": "廚房; 客廳; 睡房; 地下; 天花燈; 閱讀燈; 電熱水壺; 吊扇; 百葉簾; 電視; 恆溫器; 前門",
    "zh-TW": "廚房; 客廳; 臥室; 一樓; 主燈; 閱讀燈; 快煮壺; 吊扇; 百葉窗; 電視; 溫控器; 前門",
}
