"""Coded values of the roster, with their Chinese labels (the English is in the message catalog)."""

from __future__ import annotations

from hierarchy.codes import Level

# The post a unit must have filled: a children's director per village, a supervisor per township.
POSTS = {"director": "儿童主任", "supervisor": "儿童督导员"}
POST_OF_LEVEL = {Level.village: "director", Level.township: "supervisor"}
LEVEL_OF_POST = {post: level for level, post in POST_OF_LEVEL.items()}
EMPLOYMENTS = {"full_time": "专职", "part_time": "兼职"}
SEXES = {"male": "男", "female": "女"}
# Who covers a vacant unit: the director of another village of the same township, the village's township
# supervisor, or (a vacant township) the supervisor of another township of the same county.
COVER_KINDS = {"neighbour_director": "邻村儿童主任代管", "township_supervisor": "乡镇督导员代管",
               "neighbour_supervisor": "邻乡镇督导员代管"}
# How long a unit has been vacant is counted from the day its last holder left, or, when it never had one,
# from the day the unit was loaded into Shouhu (the roster cannot know of holders before it).
VACANT_BASES = {"left": "上任离任之日起", "never_filled": "单位载入之日起（从未登记）"}


def sql_in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)
