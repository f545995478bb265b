"""What the training and evaluation voices say: requests that follow the wake word, long talk
without it, and confusable phrases. Each list has a training part and a held-out part, so the
evaluation hears sentences the classifier never heard."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CJK = re.compile(r"[\u4e00-\u9fff]")


def is_chinese(text: str) -> bool:
    return bool(CJK.search(text))


@dataclass(frozen=True)
class Texts:
    requests: tuple[str, ...]  # said right after the wake word
    talk: tuple[str, ...]  # long speech without the wake word


ZH_TRAIN = Texts(
    requests=(
        "今天天气怎么样",
        "明天会下雨吗",
        "帮我定一个十分钟的闹钟",
        "放一首轻松的音乐",
        "声音小一点",
        "给我讲个笑话",
        "打开客厅的灯",
        "北京离上海有多远",
    ),
    talk=(
        "我们下午三点在公司门口见面，别忘了带上昨天打印的文件。",
        "这家饭馆的菜很好吃，就是周末的时候人太多，要排很久的队。",
        "孩子们放学以后喜欢在小区的花园里踢足球，一直玩到天黑。",
        "今年春天来得特别早，公园里的桃花已经全部开了。",
        "他每天早上六点起床，先跑步半个小时，然后吃早饭去上班。",
        "这本书讲的是一个年轻人离开家乡去大城市打工的故事。",
        "超市里的水果比上个月便宜了不少，我买了一些苹果和香蕉。",
        "会议推迟到下周二，请大家提前准备好自己的报告。",
        "你好，请问去火车站应该坐几路公交车？",
        "小朋友们排好队，一个一个地走进教室。",
        "妈妈说晚饭做红烧鱼和西红柿炒鸡蛋。",
        "这个周末我们打算开车去郊区看看朋友。",
        "晓之以理，动之以情，这是说服别人的好办法。",
        "他是一个很有智慧的人，遇到问题总是很冷静。",
    ),
)
ZH_HELD_OUT = Texts(
    requests=("现在几点了", "关掉电视", "今天是星期几", "我想听新闻"),
    talk=(
        "去年夏天我们一家人去海边度假，每天都在沙滩上晒太阳。",
        "图书馆周一到周五开放，周末只开半天，借书需要带上证件。",
        "这条河从西往东流，两岸种满了柳树，春天的时候特别漂亮。",
        "医生建议他少吃油腻的东西，多喝水，每天保证睡够八个小时。",
        "你好，欢迎光临，请问几位？里面还有靠窗的座位。",
        "小张和小王是大学同学，毕业以后一起开了一家咖啡店。",
        "明天早上的航班因为大雾取消了，我们只好改坐高铁。",
        "这道数学题有点难，老师讲了两遍大家才听明白。",
        "晓之以理的意思是用道理来开导别人。",
        "智能手机改变了很多人的生活习惯。",
    ),
)
EN_TRAIN = Texts(
    requests=(
        "what is the weather like today",
        "set a timer for ten minutes",
        "play some quiet music",
        "turn off the kitchen lights",
        "tell me a joke",
        "how far is the moon",
    ),
    talk=(
        "We met at the station at nine and took the slow train along the coast.",
        "The bakery on the corner sells fresh bread every morning before seven.",
        "After the meeting we went out for lunch and talked about the new project.",
        "My brother is learning to play the piano and practices every evening.",
        "The museum was closed on Monday, so we walked through the old town instead.",
        "Please remember to water the plants while I am away next week.",
        "Hello there, could you tell me where the nearest post office is?",
        "The children built a small boat out of wood and painted it blue.",
    ),
)
EN_HELD_OUT = Texts(
    requests=("what time is it", "stop the music", "what day is it"),
    talk=(
        "The river flooded twice that winter, and the farmers moved their animals uphill.",
        "She wrote letters to her grandmother every week for more than ten years.",
        "Traffic was heavy on the bridge, so most people took the ferry instead.",
        "The library opens late on Thursdays and has a quiet room on the top floor.",
        "Hey, did you see the game last night? It went to extra time.",
        "Our neighbours keep bees, and in autumn they give us a jar of honey.",
    ),
)
# Known near-misses of the shipped Chinese wake word: its halves, and words that sound like it.
ZH_CONFUSABLE = (
    "你好",
    "小智",
    "你好小朋友",
    "你好小张",
    "你好小猪",
    "晓之以理",
    "小智慧",
    "小知识",
    "你好啊",
    "你早",
    "好小子",
    "小池",
)
ZH_FILLERS = ("大家", "朋友", "老师", "东西", "今天", "我们", "电话", "时间")
EN_FILLERS = ("there", "buddy", "mister", "everyone", "garden", "morning")


def texts(chinese: bool, held_out: bool) -> Texts:
    if chinese:
        return ZH_HELD_OUT if held_out else ZH_TRAIN
    return EN_HELD_OUT if held_out else EN_TRAIN


def confusables(phrase: str) -> list[str]:
    """Phrases that share half of the wake phrase, or sound like it, but are not it."""
    chinese = is_chinese(phrase)
    units = list(phrase.replace(" ", "")) if chinese else phrase.split()
    joiner = "" if chinese else " "
    half = max(1, len(units) // 2)
    head, tail = joiner.join(units[:half]), joiner.join(units[half:])
    fillers = ZH_FILLERS if chinese else EN_FILLERS
    found = [head, tail] + [f"{head}{joiner}{f}" for f in fillers[:4]]
    found += [f"{f}{joiner}{tail}" for f in fillers[4:]]
    if chinese and phrase == "你好小智":
        found += list(ZH_CONFUSABLE)
    clean = phrase.replace(" ", "").lower()
    return sorted({t for t in found if t and t.replace(" ", "").lower() != clean})


@lru_cache(maxsize=4)
def vocabulary(chinese: bool, held_out: bool) -> tuple[str, ...]:
    """Tens of thousands of words to make talk of every sound of the language: pypinyin's
    phrase list (Chinese) and pocketsphinx's pronouncing dictionary (English), both already
    installed. One word in five is held out (by a hash of the word) for the evaluation."""
    if chinese:
        from pypinyin.phrases_dict import phrases_dict

        words = [w for w in phrases_dict if 2 <= len(w) <= 4 and re.fullmatch(CJK.pattern + "+", w)]
    else:
        import pocketsphinx

        path = Path(pocketsphinx.__file__).parent / "model" / "en-us" / "cmudict-en-us.dict"
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        words = [line.split()[0] for line in lines if line and "(" not in line.split()[0]]
        words = [w for w in words if w.isalpha() and len(w) >= 2]
    return tuple(w for w in sorted(set(words)) if (zlib.crc32(w.encode()) % 5 == 0) == held_out)
