"""A 52-entity home with Chinese (zh-CN) names, aliases, areas and floors (`--homes 52`)."""

from __future__ import annotations

from bench_lib.named_homes import NamedHome, Place, Row, entities_from_rows

SIZE = 52  # the bench's key of this home; the generated home of 52 entities is not measured
LANGUAGE = "zh-CN"
COMMAND = "打开客厅吊灯"  # the living room pendant, named without word spaces
GROUND, UPPER = "一楼", "二楼"
FLOORS = (Place(GROUND, ("一层",)), Place(UPPER, ("二层", "楼上")))
AREAS = (
    Place("客厅", ("起居室",), GROUND),
    Place("厨房", (), GROUND),
    Place("餐厅", ("饭厅",), GROUND),
    Place("玄关", ("门厅",), GROUND),
    Place("主卧", ("主卧室",), UPPER),
    Place("次卧", ("客房",), UPPER),
    Place("书房", (), UPPER),
    Place("卫生间", ("浴室", "洗手间"), UPPER),
    Place("阳台", (), UPPER),
    Place("车库"),
    Place("花园", ("院子",)),
)
ROWS: tuple[Row, ...] = (
    ("light.living_pendant", "客厅吊灯", "客厅", ("客厅大灯",), None),
    ("light.floor_lamp", "落地灯", "客厅", (), None),
    ("switch.tv_socket", "电视插座", "客厅", (), None),
    ("cover.living_curtains", "客厅窗帘", "客厅", (), "curtain"),
    ("fan.ceiling_fan", "吊扇", "客厅", (), None),
    ("sensor.living_temperature", "客厅温度", "客厅", (), "temperature"),
    ("binary_sensor.living_motion", "客厅人体感应", "客厅", (), "motion"),
    ("light.kitchen_light", "厨房灯", "厨房", (), None),
    ("light.cabinet_strip", "橱柜灯带", "厨房", (), None),
    ("switch.kettle", "电水壶", "厨房", ("烧水壶",), None),
    ("fan.range_hood", "抽油烟机", "厨房", ("油烟机",), None),
    ("sensor.kitchen_humidity", "厨房湿度", "厨房", (), "humidity"),
    ("binary_sensor.kitchen_leak", "厨房漏水检测", "厨房", (), "moisture"),
    ("light.dining_pendant", "餐厅吊灯", "餐厅", (), None),
    ("switch.coffee_machine", "咖啡机", "餐厅", (), None),
    ("binary_sensor.dining_window", "餐厅窗户", "餐厅", (), "window"),
    ("light.entry_light", "玄关灯", "玄关", (), None),
    ("light.shoe_cabinet_light", "鞋柜灯", "玄关", (), None),
    ("lock.front_door", "智能门锁", "玄关", ("大门锁",), None),
    ("binary_sensor.entry_door", "入户门", "玄关", (), "door"),
    ("light.master_ceiling", "主卧顶灯", "主卧", (), None),
    ("light.bedside_lamp", "床头灯", "主卧", (), None),
    ("cover.master_curtains", "主卧窗帘", "主卧", (), "curtain"),
    ("switch.humidifier", "加湿器", "主卧", (), None),
    ("sensor.master_temperature", "主卧温度", "主卧", (), "temperature"),
    ("binary_sensor.master_window", "主卧窗户", "主卧", (), "window"),
    ("light.guest_light", "次卧灯", "次卧", (), None),
    ("cover.guest_blinds", "次卧百叶窗", "次卧", (), "blind"),
    ("switch.electric_blanket", "电热毯", "次卧", (), None),
    ("sensor.guest_humidity", "次卧湿度", "次卧", (), "humidity"),
    ("light.desk_lamp", "台灯", "书房", ("书桌灯",), None),
    ("light.study_downlights", "书房筒灯", "书房", (), None),
    ("switch.printer", "打印机", "书房", (), None),
    ("fan.study_fan", "书房风扇", "书房", (), None),
    ("binary_sensor.study_motion", "书房人体感应", "书房", (), "motion"),
    ("light.bath_light", "卫生间灯", "卫生间", (), None),
    ("light.mirror_light", "镜前灯", "卫生间", (), None),
    ("switch.water_heater", "热水器", "卫生间", (), None),
    ("fan.exhaust_fan", "排气扇", "卫生间", ("换气扇",), None),
    ("sensor.bath_humidity", "卫生间湿度", "卫生间", (), "humidity"),
    ("light.balcony_light", "阳台灯", "阳台", (), None),
    ("cover.drying_rack", "电动晾衣架", "阳台", ("晾衣架",), None),
    ("binary_sensor.balcony_door", "阳台门", "阳台", (), "door"),
    ("sensor.balcony_temperature", "阳台温度", "阳台", (), "temperature"),
    ("light.garage_light", "车库灯", "车库", (), None),
    ("cover.garage_door", "车库门", "车库", (), "garage"),
    ("switch.car_charger", "充电桩", "车库", (), None),
    ("lock.garage_side_door", "车库侧门锁", "车库", (), None),
    ("light.garden_lights", "庭院灯", "花园", (), None),
    ("switch.lawn_sprinkler", "草坪喷灌", "花园", (), None),
    ("lock.garden_gate", "花园门锁", "花园", (), None),
    ("binary_sensor.garden_motion", "花园人体感应", "花园", (), "motion"),
)


def home() -> NamedHome:
    """Return the Chinese home."""
    return NamedHome(SIZE, LANGUAGE, FLOORS, AREAS, entities_from_rows("zh", ROWS), COMMAND)
