"""pocketsphinx: offline English ASR whose wheel carries its model (the zero-download profile).

It decodes incrementally, so feeding it during RECORDING leaves little work for the endpoint.
"""

from __future__ import annotations

import numpy as np
from pocketsphinx import Decoder

from daemon.asr.base import Transcript
from daemon.audio.frames import SAMPLE_RATE
from daemon.config import PocketsphinxSettings


class _Session:
    def __init__(self, decoder: Decoder) -> None:
        self._decoder = decoder
        self.partial = ""  # read by the endpointer on another thread: a str swap is atomic
        decoder.start_utt()

    def feed(self, samples: np.ndarray) -> None:
        self._decoder.process_raw(samples.astype(np.int16, copy=False).tobytes(), False, False)
        hyp = self._decoder.hyp()
        self.partial = hyp.hypstr if hyp else ""

    def finish(self) -> Transcript:
        self._decoder.end_utt()
        hyp = self._decoder.hyp()
        return Transcript(hyp.hypstr.strip() if hyp else "", "en")


class PocketsphinxTranscriber:
    name = "pocketsphinx"

    def __init__(self, settings: PocketsphinxSettings) -> None:
        options: dict[str, object] = {
            "samprate": SAMPLE_RATE,
            "logfn": "/dev/null",
            # No second (flat-lexicon) pass at the end of an utterance: it doubled the time from
            # the endpoint to the final text (~300 -> ~160 ms on a loaded 2-core box) and did
            # not lower the word error rate (scripts/bench asr's English requests: 0.61 with
            # it, 0.60 without; the ALSA recordings 0.50 either way).
            "fwdflat": False,
        }
        for key, value in (
            ("hmm", settings.hmm),
            ("lm", settings.lm),
            ("dict", settings.dictionary),
        ):
            if value:
                options[key] = value
        self._decoder = Decoder(**options)

    def start(self) -> _Session:
        return _Session(self._decoder)
