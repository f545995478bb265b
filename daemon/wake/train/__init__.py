"""`voiced wake train`: a wake word for any phrase, trained on openWakeWord's frozen features.

Needs the `train` extra (torch, onnx, pypinyin) and Debian's espeak-ng and gcin-voice; the
listening daemon never imports this package.
"""
