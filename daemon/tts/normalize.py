"""Text as it should be spoken: numbers, dates, times, money and units written out in words.

ChatTTS's own normalizer drops what it cannot say, digits and %, ¥, °, : included, so "3.5%"
would come out as silence. These pure functions read such text the way a person would, in the
persona's language ("3.5%" -> "百分之三点五" / "three point five percent"), then keep only what
ChatTTS accepts (CJK ideographs, Latin letters, spaces and ，。、,.) and cut very long
sentences at a comma or a space. Square brackets go too: an LLM reply must not be able to
inject ChatTTS control tokens such as [laugh] or [spk_emb]. The output is plain text, so
espeak-ng reads it just as well.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

MAX_CHARS = {"zh": 60, "en": 160}  # about 12-15 s of speech: ChatTTS drifts on longer input

# --- Chinese numbers ---------------------------------------------------------------------------

ZH_DIGITS = "零一二三四五六七八九"
_ZH_GROUPS = ["", "万", "亿", "万亿"]


def _zh_group(n: int, first: bool) -> str:
    """1..9999 in Chinese; `first`: this group starts the number (一十 -> 十, 两百)."""
    out: list[str] = []
    pending_zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit == 0:
            pending_zero = bool(out)
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        if digit == 2 and unit == "千" or (digit == 2 and unit == "百" and first and not out):
            out.append("两" + unit)
        elif digit == 1 and unit == "十" and first and not out:
            out.append("十")
        else:
            out.append(ZH_DIGITS[digit] + unit)
    return "".join(out)


def zh_int(n: int) -> str:
    """Cardinal: 10 -> 十, 105 -> 一百零五, 2026 -> 两千零二十六, 20000 -> 两万."""
    if n < 0:
        return "负" + zh_int(-n)
    if n == 0:
        return "零"
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    if len(groups) > len(_ZH_GROUPS):
        return zh_digits(str(sum(g * 10000**i for i, g in enumerate(groups))))
    out: list[str] = []
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            continue
        first = not out
        if out and (group < 1000 or groups[index + 1] == 0):
            out.append("零")
        word = "两" if group == 2 and index > 0 else _zh_group(group, first)
        out.append(word + _ZH_GROUPS[index])
    return "".join(out)


def zh_digits(digits: str) -> str:
    return "".join(ZH_DIGITS[int(d)] for d in digits)


def zh_number(text: str) -> str:
    """'-3.14' -> 负三点一四; long digit strings and leading zeros are read digit by digit."""
    sign, text = ("负", text[1:]) if text.startswith("-") else ("", text)
    whole, _, frac = text.partition(".")
    if len(whole) > 10 or (len(whole) > 1 and whole.startswith("0")):
        spoken = zh_digits(whole)
    else:
        spoken = zh_int(int(whole))
    if frac:
        spoken += "点" + zh_digits(frac)
    return sign + spoken


# --- English numbers ---------------------------------------------------------------------------

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]
_ORDINAL = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def en_int(n: int) -> str:
    """Cardinal without hyphens (ChatTTS turns '-' into a pause): 24 -> twenty four."""
    if n < 0:
        return "minus " + en_int(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + en_int(rest))
    for value, name in _SCALES:
        if n >= value:
            rest = n % value
            return en_int(n // value) + " " + name + ("" if rest == 0 else " " + en_int(rest))
    raise AssertionError("unreachable")


def en_ordinal(n: int) -> str:
    words = en_int(n).split(" ")
    last = words[-1]
    if last in _ORDINAL:
        words[-1] = _ORDINAL[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def en_digits(digits: str) -> str:
    return " ".join(_ONES[int(d)] for d in digits)


def en_number(text: str) -> str:
    """'-3.14' -> minus three point one four."""
    sign, text = ("minus ", text[1:]) if text.startswith("-") else ("", text)
    whole, _, frac = text.partition(".")
    if len(whole) > 10 or (len(whole) > 1 and whole.startswith("0")):
        spoken = en_digits(whole)
    else:
        spoken = en_int(int(whole))
    if frac:
        spoken += " point " + en_digits(frac)
    return sign + spoken


def en_year(year: int) -> str:
    """2026 -> twenty twenty six, 1905 -> nineteen oh five, 2005 -> two thousand five."""
    if year % 1000 == 0 or 2000 <= year < 2010 or not 1000 <= year < 10000:
        return en_int(year)
    high, low = divmod(year, 100)
    if low == 0:
        return en_int(high) + " hundred"
    return en_int(high) + (" oh " if low < 10 else " ") + en_int(low)


# --- rules -------------------------------------------------------------------------------------

NUM = r"(?:(?<![A-Za-z0-9.])-)?\d+(?:\.\d+)?"  # a minus sign, not a hyphen in COVID-19
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _valid_date(month: str, day: str) -> bool:
    return 1 <= int(month) <= 12 and 1 <= int(day) <= 31


def _zh_date(m: re.Match[str]) -> str:
    year, month, day = m.group("y"), m.group("m"), m.group("d")
    if not _valid_date(month, day):
        return m.group(0)
    return f"{zh_digits(year)}年{zh_int(int(month))}月{zh_int(int(day))}日"


def _en_date(m: re.Match[str]) -> str:
    year, month, day = m.group("y"), m.group("m"), m.group("d")
    if not _valid_date(month, day):
        return m.group(0)
    return f"{MONTHS[int(month) - 1]} {en_ordinal(int(day))}, {en_year(int(year))}"


def _zh_time(m: re.Match[str]) -> str:
    hour, minute, second = int(m.group("h")), int(m.group("min")), m.group("s")
    meridiem = (m.group("ampm") or "").lower()
    prefix = {"a": "上午", "p": "下午"}.get(meridiem[:1], "")
    spoken = prefix + zh_int(hour) + "点"
    if minute == 0 and not second:
        return spoken + "整"
    spoken += ("零" if minute < 10 else "") + zh_int(minute) + "分"
    if second:
        spoken += zh_int(int(second)) + "秒"
    return spoken


def _en_time(m: re.Match[str]) -> str:
    hour, minute, second = int(m.group("h")), int(m.group("min")), m.group("s")
    meridiem = (m.group("ampm") or "").lower()
    if minute == 0:
        if meridiem or 1 <= hour <= 12:
            spoken = en_int(hour) + (" o clock" if not meridiem else "")
        else:
            spoken = en_int(hour) + " hundred"
    else:
        spoken = en_int(hour) + (" oh " if minute < 10 else " ") + en_int(minute)
    if second:
        spoken += " and " + en_int(int(second)) + " seconds"
    if meridiem:
        spoken += " " + " ".join(meridiem[0].upper() + "M")
    return spoken


_TIME = re.compile(
    r"(?<![\d:])(?P<h>[01]?\d|2[0-4]):(?P<min>[0-5]\d)(?::(?P<s>[0-5]\d))?(?![\d:])"
    r"(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?)(?![A-Za-z]))?"
)
_DATE = re.compile(r"(?<!\d)(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d|\.\d)")
_ZH_DATE = re.compile(r"(?<!\d)(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]")
_PHONE = re.compile(r"(?<![\d-])\d{3,4}[- ]\d{3,4}[- ]\d{4}(?![\d-])")
_RANGE = re.compile(r"(?<=\d)\s*[-~～–—]\s*(?=\d)")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")

ZH_CURRENCY = {"$": "美元", "€": "欧元", "£": "英镑", "¥": "元"}
EN_CURRENCY = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yuan", "yuan", "fen", "fen"),
}
_CURRENCY = re.compile(r"(?P<sym>[$€£¥])\s*(?P<num>\d+(?:\.\d+)?)")
_TEMPERATURE = re.compile(rf"(?P<num>{NUM})\s*°\s*(?P<scale>[CF])?(?![A-Za-z])")
_PERCENT = re.compile(rf"(?P<num>{NUM})\s*%")
_ORDINAL_SUFFIX = re.compile(r"(?<!\d)(?P<num>\d+)(?:st|nd|rd|th)\b")
_FRACTION = re.compile(r"(?<![\d/])(?P<a>\d+)/(?P<b>\d+)(?![\d/])")
_NUMBER = re.compile(NUM)

# unit -> (zh, en singular, en plural); longest first so "km/h" wins over "km" and "m".
UNITS = {
    "km/h": ("公里每小时", "kilometer per hour", "kilometers per hour"),
    "kWh": ("千瓦时", "kilowatt hour", "kilowatt hours"),
    "km^2": ("平方公里", "square kilometer", "square kilometers"),
    "m^2": ("平方米", "square meter", "square meters"),
    "m^3": ("立方米", "cubic meter", "cubic meters"),
    "mph": ("英里每小时", "mile per hour", "miles per hour"),
    "kHz": ("千赫兹", "kilohertz", "kilohertz"),
    "MHz": ("兆赫兹", "megahertz", "megahertz"),
    "GHz": ("吉赫兹", "gigahertz", "gigahertz"),
    "min": ("分钟", "minute", "minutes"),
    "km": ("公里", "kilometer", "kilometers"),
    "cm": ("厘米", "centimeter", "centimeters"),
    "mm": ("毫米", "millimeter", "millimeters"),
    "kg": ("公斤", "kilogram", "kilograms"),
    "mg": ("毫克", "milligram", "milligrams"),
    "ml": ("毫升", "milliliter", "milliliters"),
    "mL": ("毫升", "milliliter", "milliliters"),
    "kW": ("千瓦", "kilowatt", "kilowatts"),
    "Hz": ("赫兹", "hertz", "hertz"),
    "ms": ("毫秒", "millisecond", "milliseconds"),
    "mi": ("英里", "mile", "miles"),
    "ft": ("英尺", "foot", "feet"),
    "lb": ("磅", "pound", "pounds"),
    "lbs": ("磅", "pound", "pounds"),
    "oz": ("盎司", "ounce", "ounces"),
    "GB": ("G B", "gigabyte", "gigabytes"),
    "MB": ("M B", "megabyte", "megabytes"),
    "TB": ("T B", "terabyte", "terabytes"),
    "m": ("米", "meter", "meters"),
    "g": ("克", "gram", "grams"),
    "L": ("升", "liter", "liters"),
    "W": ("瓦", "watt", "watts"),
    "V": ("伏", "volt", "volts"),
    "h": ("小时", "hour", "hours"),
}
_UNIT = re.compile(
    rf"(?P<num>{NUM})\s*(?P<unit>"
    + "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
    + r")(?![A-Za-z0-9^])"
)
ZH_SYMBOLS = {"&": "和", "+": "加", "=": "等于", "×": "乘", "÷": "除以", "@": " at "}
EN_SYMBOLS = {
    "&": " and ",
    "+": " plus ",
    "=": " equals ",
    "×": " times ",
    "÷": " divided by ",
    "@": " at ",
}


def _en_money(m: re.Match[str]) -> str:
    one, many, cent, cents = EN_CURRENCY[m.group("sym")]
    whole, _, frac = m.group("num").partition(".")
    if len(frac) > 2:
        return en_number(m.group("num")) + " " + many
    units, hundredths = int(whole), int((frac + "00")[:2]) if frac else 0
    parts = []
    if units or not hundredths:
        parts.append(en_int(units) + " " + (one if units == 1 else many))
    if hundredths:
        parts.append(en_int(hundredths) + " " + (cent if hundredths == 1 else cents))
    return " and ".join(parts)


def _zh_temperature(m: re.Match[str]) -> str:
    num = m.group("num")
    word = {"C": "摄氏度", "F": "华氏度"}.get(m.group("scale") or "", "度")
    return ("零下" + zh_number(num[1:]) if num.startswith("-") else zh_number(num)) + word


def _en_temperature(m: re.Match[str]) -> str:
    num = m.group("num")
    scale = {"C": " Celsius", "F": " Fahrenheit"}.get(m.group("scale") or "", "")
    return en_number(num) + (" degree" if num == "1" else " degrees") + scale


def _en_unit(m: re.Match[str]) -> str:
    _, one, many = UNITS[m.group("unit")]
    return en_number(m.group("num")) + " " + (one if m.group("num") == "1" else many)


def _en_fraction(m: re.Match[str]) -> str:
    a, b = int(m.group("a")), int(m.group("b"))
    if b == 0:
        return en_int(a) + " over zero"
    name = {2: "half", 4: "quarter"}.get(b) or en_ordinal(b)
    if a != 1:
        name = "halves" if b == 2 else name + "s"
    return en_int(a) + " " + name


def _spell(digits: Callable[[str], str], sep: str) -> Callable[[re.Match[str]], str]:
    return lambda m: sep.join(digits(part) for part in re.split(r"[- ]", m.group(0))) + sep


ZH_RULES: list[Rule] = [
    (_ZH_DATE, _zh_date),
    (_DATE, _zh_date),
    (re.compile(r"(?<!\d)(?P<y>\d{4})年"), lambda m: zh_digits(m.group("y")) + "年"),
    (_TIME, _zh_time),
    (_PHONE, _spell(zh_digits, "，")),
    (_RANGE, lambda m: "到"),
    (
        _PERCENT,
        lambda m: (
            ("负" if m.group("num")[0] == "-" else "")
            + "百分之"
            + zh_number(m.group("num").lstrip("-"))
        ),
    ),
    (_CURRENCY, lambda m: zh_number(m.group("num")) + ZH_CURRENCY[m.group("sym")]),
    (_TEMPERATURE, _zh_temperature),
    (_UNIT, lambda m: zh_number(m.group("num")) + UNITS[m.group("unit")][0]),
    (_FRACTION, lambda m: zh_int(int(m.group("b"))) + "分之" + zh_int(int(m.group("a")))),
    (_ORDINAL_SUFFIX, lambda m: "第" + zh_int(int(m.group("num")))),
    (_NUMBER, lambda m: zh_number(m.group(0))),
]
EN_RULES: list[Rule] = [
    (_DATE, _en_date),
    (_TIME, _en_time),
    (_PHONE, _spell(en_digits, ", ")),
    (_RANGE, lambda m: " to "),
    (_PERCENT, lambda m: en_number(m.group("num")) + " percent"),
    (_CURRENCY, _en_money),
    (_TEMPERATURE, _en_temperature),
    (_UNIT, _en_unit),
    (_FRACTION, _en_fraction),
    (_ORDINAL_SUFFIX, lambda m: en_ordinal(int(m.group("num")))),
    (_NUMBER, lambda m: en_number(m.group(0))),
]

# --- characters --------------------------------------------------------------------------------

_PAUSE = re.compile(r"[:;—–\-\n\r\t()\[\]{}<>\"“”‘’「」『』《》【】|/\\~]+")
_STOP = re.compile(r"[!?…]+|\.{2,}")
_UNSPEAKABLE = re.compile(r"[^\u4e00-\u9fffA-Za-z，。、,. ]+")
_SPACES = re.compile(r"\s+")
_CJK = r"\u4e00-\u9fff"


_PUNCT_RUN = re.compile(r"\s*[,.，。、](?:\s*[,.，。、])*\s*")


def _strongest(m: re.Match[str]) -> str:
    """A run of marks becomes one: a full stop if there is one in it, else its first comma."""
    marks = m.group(0).replace(" ", "")
    mark = next((c for c in marks if c in ".。"), marks[0])
    return mark + " " if mark in ",." else mark


def _ascii_forms(text: str) -> str:
    """Full-width forms to ASCII (，stays as is: see below), accents off Latin letters."""
    text = text.replace("²", "^2").replace("³", "^3").replace("℃", "°C").replace("℉", "°F")
    text = text.replace("，", "\x00").replace("、", "\x01")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return text.replace("\x00", "，").replace("\x01", "、").replace("￥", "¥")


def _tidy(text: str, language: str) -> str:
    symbols = ZH_SYMBOLS if language == "zh" else EN_SYMBOLS
    for symbol, word in symbols.items():
        text = text.replace(symbol, word)
    text = text.replace("'", "")
    text = _STOP.sub(".", text)
    text = _PAUSE.sub(",", text)
    text = _UNSPEAKABLE.sub(" ", text)
    if language == "zh":
        text = re.sub(rf"(?<=[{_CJK}])\s*,\s*|\s*,\s*(?=[{_CJK}])", "，", text)
        text = re.sub(rf"(?<=[{_CJK}])\s*\.\s*|\s*\.\s*(?=[{_CJK}])", "。", text)
        text = re.sub(rf"(?<=[{_CJK}]) +(?=[{_CJK}])", "", text)
        text = re.sub(r"\s*([，。、])\s*", r"\1", text)
    text = _PUNCT_RUN.sub(_strongest, text)
    text = _SPACES.sub(" ", text).strip()
    return text.lstrip(",.，。、 ").rstrip(", ，、")


def normalize(text: str, language: str) -> str:
    """The text as the persona should say it: numbers etc. in words, unsayable characters gone."""
    text = _THOUSANDS.sub("", _ascii_forms(text))
    for pattern, spoken in ZH_RULES if language == "zh" else EN_RULES:
        text = pattern.sub(spoken, text)
    return _tidy(text, language)


# --- length ------------------------------------------------------------------------------------

_BREAKS = ("，", "、", ",", "；", " ")


def split_long(text: str, max_chars: int) -> list[str]:
    """Pieces of at most `max_chars`, cut at the last comma (else space) in the second half."""
    pieces = []
    while len(text) > max_chars:
        window = text[: max_chars + 1]
        cut = max((window.rfind(mark, max_chars // 2) for mark in _BREAKS), default=-1)
        cut = max_chars if cut <= 0 else cut + 1
        head, text = text[:cut].strip(" ,，、"), text[cut:].strip()
        if head:
            pieces.append(head)
    if text.strip(" ,，、.。"):
        pieces.append(text)
    return pieces


def prepare_for_speech(text: str, language: str, max_chars: int | None = None) -> list[str]:
    """normalize() then split_long(): the pieces to synthesize one after another."""
    limit = max_chars or MAX_CHARS.get(language, MAX_CHARS["en"])
    return split_long(normalize(text, language), limit)
