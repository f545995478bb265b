"""What the box does without the LLM, and offers to it as tools: timers, alarms, volume.

text.py      transcript clean-up shared by the parsers (fillers, punctuation, traditional forms)
numbers.py   number words to digits (Chinese through cn2an, English by a small table)
durations.py "a minute and a half" / 一个半小时 -> seconds
clocktime.py "tomorrow at seven am" / 明天早上七点 -> a moment
commands.py  a transcript -> one typed command (SetTimer, SetAlarm, Volume, ...)
store.py     timers, alarms and the volume in SQLite in the state directory
ringer.py    what is due, what rings, stopping it; time from an injected clock
actions.py   the commands carried out, with the words the box says (intents and tools alike)
"""
