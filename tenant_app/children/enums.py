"""Allowed values of the child record's coded fields (short English codes; Chinese labels for the UI)."""

from __future__ import annotations

SEXES = {"male": "男", "female": "女"}
HEALTH = {"healthy": "健康", "disabled": "残疾", "serious_illness": "重病", "chronic_illness": "慢性病"}
SCHOOLING = {
    "kindergarten": "在园", "no_kindergarten": "未入园", "primary": "小学", "junior": "初中",
    "senior": "高中", "vocational": "中职", "dropout": "辍学", "not_in_school": "不在学",
}
# A parent's situation: at home, away for work, unable (no guardianship capacity), deceased, missing.
PARENT_SITUATIONS = {"home": "在家", "away": "外出务工", "unable": "无监护能力", "deceased": "已故",
                     "missing": "失联"}
GUARDIANSHIP_TYPES = {"unattended": "无人监护", "parent_incapable": "父母无监护能力",
                      "guardian_incapable": "受托监护人无监护能力", "fair": "一般", "good": "较好"}
ASSESSMENTS = {"good": "好", "fair": "一般", "poor": "差"}
INCOME_SOURCES = {"migrant_work": "务工", "farming": "务农", "government": "政府救助", "relatives": "亲友资助",
                  "other": "其他"}
ASSISTANCE = {"dibao": "低保", "temporary": "临时救助", "medical": "医疗救助", "housing": "住房救助",
              "tekun": "特困供养", "poor_household": "建档立卡", "other": "其他"}
DIFFICULTY_SUBCATEGORIES = {"orphan": "孤儿", "de_facto_unsupported": "事实无人抚养", "poor_family": "贫困家庭",
                            "illness_disability": "重病重残", "other": "其他"}
CATEGORIES = {"left_behind": "留守儿童", "in_difficulty": "困境儿童", "de_facto_unsupported": "事实无人抚养儿童"}
RISK_LEVELS = {"low": "低", "medium": "中", "high": "高"}
STATUSES = {"active": "在册", "exited": "已退出"}
EXIT_REASONS = {"turned_16": "年满16周岁", "parents_returned": "父母返乡", "moved_away": "迁出",
                "deceased": "死亡", "other": "其他"}
TRANSFER_STATUSES = ("requested", "accepted", "rejected", "cancelled")

# Parents' situations that leave no guardianship capacity at home (the "other parent unable" clause).
WITHOUT_CAPACITY = ("unable", "deceased", "missing")


def sql_in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)

# The 56 ethnic groups officially recognised (GB/T 3304 order) and 其他; stored as the name, as typed before.
ETHNICITIES = (
    "汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族", "满族", "侗族", "瑶族",
    "白族", "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族", "佤族", "畲族", "高山族", "拉祜族", "水族",
    "东乡族", "纳西族", "景颇族", "柯尔克孜族", "土族", "达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族", "毛南族",
    "仡佬族", "锡伯族", "阿昌族", "普米族", "塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族",
    "保安族", "裕固族", "京族", "塔塔尔族", "独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族", "基诺族", "其他",
)
# Disability categories of GB/T 26341 (残疾人残疾分类和分级); stored as the name.
DISABILITY_TYPES = ("视力残疾", "听力残疾", "言语残疾", "肢体残疾", "智力残疾", "精神残疾", "多重残疾")
