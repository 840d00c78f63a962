"""English of the child record's choice lists (ethnic groups, disability categories) and of the new pages."""

_ETHNIC_EN = (
    "Han", "Mongol", "Hui", "Tibetan", "Uyghur", "Miao", "Yi", "Zhuang", "Bouyei", "Korean", "Manchu", "Dong", "Yao",
    "Bai", "Tujia", "Hani", "Kazakh", "Dai", "Li", "Lisu", "Va", "She", "Gaoshan", "Lahu", "Sui", "Dongxiang", "Naxi",
    "Jingpo", "Kyrgyz", "Tu", "Daur", "Mulao", "Qiang", "Blang", "Salar", "Maonan", "Gelao", "Xibe", "Achang",
    "Pumi", "Tajik", "Nu", "Uzbek", "Russian", "Evenki", "De'ang", "Bonan", "Yugur", "Gin", "Tatar", "Derung",
    "Oroqen", "Hezhen", "Monba", "Lhoba", "Jino", "Other",
)


def _ethnic() -> dict[str, str]:
    from tenant_app.children.enums import ETHNICITIES

    return dict(zip(ETHNICITIES, _ETHNIC_EN, strict=True))


EN = {
    **_ethnic(),
    "视力残疾": "Visual", "听力残疾": "Hearing", "言语残疾": "Speech", "肢体残疾": "Physical",
    "智力残疾": "Intellectual", "精神残疾": "Mental", "多重残疾": "Multiple",
    "已根据身份证号填写出生日期和性别": "Birth date and sex filled from the ID number",
    "打印档案": "Print the record", "打印": "Print", "一人一档": "Child file", "走访记录": "Visits",
    "打印时间": "Printed at", "暂无走访记录": "No visits yet", "走访日期": "Visit date", "走访人": "Visitor",
    "选择单位": "Choose a unit", "姓名或身份证号": "Name or ID number", "情况": "Findings",
    "办理记录": "Timeline",
}
