"""Coded values of training, with their Chinese labels (the English is in the message catalog)."""

from __future__ import annotations

from hierarchy.codes import Level

TOPICS = {"policy": "政策", "visits": "走访", "mandatory_reporting": "强制报告", "psychology": "心理",
          "safety": "安全", "other": "其他"}
# The level of a course is its organiser's: a province, city, county or township runs it (villages do not).
LEVELS = {"province": "省级", "city": "市级", "county": "县级", "township": "乡镇级"}
LEVEL_OF_UNIT = {Level.province: "province", Level.city: "city", Level.county: "county",
                 Level.township: "township"}
MAX_HOURS = 1000


def sql_in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)
