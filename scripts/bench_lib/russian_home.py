"""A 48-entity home with Russian names, aliases, areas and floors (`--homes 48`)."""

from __future__ import annotations

from bench_lib.named_homes import NamedHome, Place, Row, entities_from_rows

SIZE = 48  # the bench's key of this home; the generated home of 48 entities is not measured
LANGUAGE = "ru"
COMMAND = "Включи люстру в гостиной"  # the chandelier, named in the accusative
GROUND, UPPER = "Первый этаж", "Второй этаж"
FLOORS = (Place(GROUND, ("Низ",)), Place(UPPER, ("Верх", "Мансарда")))
AREAS = (
    Place("Кухня", (), GROUND),
    Place("Гостиная", ("Зал",), GROUND),
    Place("Прихожая", ("Коридор",), GROUND),
    Place("Ванная", ("Санузел",), UPPER),
    Place("Спальня", (), UPPER),
    Place("Детская", (), UPPER),
    Place("Кабинет", (), UPPER),
    Place("Гараж"),
    Place("Сад", ("Двор",)),
)
ROWS: tuple[Row, ...] = (
    ("light.kitchen_chandelier", "Кухонная люстра", "Кухня", ("Свет на кухне",), None),
    ("light.counter_strip", "Подсветка столешницы", "Кухня", (), None),
    ("switch.kettle", "Чайник", "Кухня", (), None),
    ("fan.cooker_hood", "Вытяжка", "Кухня", (), None),
    ("sensor.kitchen_temperature", "Температура на кухне", "Кухня", (), "temperature"),
    ("binary_sensor.kitchen_leak", "Датчик протечки", "Кухня", (), "moisture"),
    ("binary_sensor.kitchen_window", "Окно кухни", "Кухня", (), "window"),
    ("light.living_chandelier", "Люстра в гостиной", "Гостиная", (), None),
    ("light.floor_lamp", "Торшер", "Гостиная", ("Напольная лампа",), None),
    ("switch.garland", "Гирлянда", "Гостиная", (), None),
    ("cover.living_curtains", "Шторы в гостиной", "Гостиная", (), "curtain"),
    ("cover.living_blinds", "Жалюзи в гостиной", "Гостиная", (), "blind"),
    ("sensor.living_humidity", "Влажность в гостиной", "Гостиная", (), "humidity"),
    ("binary_sensor.living_motion", "Движение в гостиной", "Гостиная", (), "motion"),
    ("light.hall_light", "Свет в прихожей", "Прихожая", (), None),
    ("lock.front_door", "Входная дверь", "Прихожая", ("Замок входной двери",), None),
    ("binary_sensor.hall_door", "Датчик открытия двери", "Прихожая", (), "door"),
    ("switch.mirror_socket", "Розетка у зеркала", "Прихожая", (), None),
    ("light.bath_light", "Свет в ванной", "Ванная", (), None),
    ("light.mirror_light", "Подсветка зеркала", "Ванная", (), None),
    ("switch.towel_rail", "Полотенцесушитель", "Ванная", (), None),
    ("fan.bath_fan", "Вентилятор в ванной", "Ванная", (), None),
    ("sensor.bath_humidity", "Влажность в ванной", "Ванная", (), "humidity"),
    ("light.night_light", "Ночник", "Спальня", (), None),
    ("light.bedroom_chandelier", "Люстра в спальне", "Спальня", (), None),
    ("cover.bedroom_curtains", "Шторы в спальне", "Спальня", (), "curtain"),
    ("switch.humidifier", "Увлажнитель", "Спальня", (), None),
    ("sensor.bedroom_temperature", "Температура в спальне", "Спальня", (), "temperature"),
    ("binary_sensor.bedroom_window", "Окно спальни", "Спальня", (), "window"),
    ("light.nursery_lamp", "Лампа в детской", "Детская", (), None),
    ("light.star_projector", "Звёздное небо", "Детская", ("Проектор звёзд",), None),
    ("cover.nursery_blinds", "Жалюзи в детской", "Детская", (), "blind"),
    ("sensor.nursery_temperature", "Температура в детской", "Детская", (), "temperature"),
    ("binary_sensor.nursery_motion", "Движение в детской", "Детская", (), "motion"),
    ("light.desk_lamp", "Настольная лампа", "Кабинет", (), None),
    ("light.study_light", "Свет в кабинете", "Кабинет", (), None),
    ("switch.printer", "Принтер", "Кабинет", (), None),
    ("fan.study_fan", "Вентилятор в кабинете", "Кабинет", (), None),
    ("binary_sensor.study_window", "Окно кабинета", "Кабинет", (), "window"),
    ("light.garage_light", "Свет в гараже", "Гараж", (), None),
    ("cover.garage_gate", "Ворота гаража", "Гараж", ("Гаражные ворота",), "garage"),
    ("switch.car_charger", "Зарядка машины", "Гараж", ("Зарядная станция",), None),
    ("lock.garage_door", "Замок гаража", "Гараж", (), None),
    ("sensor.garage_temperature", "Температура в гараже", "Гараж", (), "temperature"),
    ("light.garden_lanterns", "Садовые фонари", "Сад", (), None),
    ("switch.lawn_watering", "Полив газона", "Сад", (), None),
    ("lock.wicket", "Калитка", "Сад", (), None),
    ("binary_sensor.garden_motion", "Движение в саду", "Сад", (), "motion"),
)


def home() -> NamedHome:
    """Return the Russian home."""
    return NamedHome(SIZE, LANGUAGE, FLOORS, AREAS, entities_from_rows("ru", ROWS), COMMAND)
