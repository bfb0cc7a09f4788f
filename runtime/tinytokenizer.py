"""The tiny model's vocabulary as a Hugging Face tokenizer directory, for clients that count tokens themselves.

Benchmark clients such as aiperf load a tokenizer to write prompts of a given length and to count the tokens
they receive; offline they need it on disk. This writes the same SentencePiece-style unigram vocabulary the
GGUF carries (scores, byte fallback, ``▁`` for spaces) as ``tokenizer.json`` with the ``tokenizers`` library,
so that the client's counts are the model's.
"""

from __future__ import annotations

import json
from pathlib import Path

from observatory.runtime.tinymodel import EOS, SPACE, vocabulary


def write_tokenizer(directory: Path) -> Path:
    """Write ``tokenizer.json`` and ``tokenizer_config.json`` of the tiny model under ``directory``."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    tokens, scores, _ = vocabulary()
    unigram = models.Unigram([(token, score) for token, score in zip(tokens, scores, strict=True)], 0, True)
    tokenizer = Tokenizer(unigram)
    # SentencePiece's llama convention: a space before the text, every space written as ▁.
    tokenizer.normalizer = normalizers.Sequence([normalizers.Prepend(SPACE), normalizers.Replace(" ", SPACE)])
    tokenizer.pre_tokenizer = pre_tokenizers.Split(SPACE, "merged_with_next")
    tokenizer.decoder = decoders.Sequence(
        [decoders.Replace(SPACE, " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(directory / "tokenizer.json"))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": tokens[0], "bos_token": tokens[1],
              "eos_token": tokens[EOS], "model_max_length": 4096}  # fmt: skip
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return directory


if __name__ == "__main__":
    import sys

    # ``python -m observatory.runtime.tinytokenizer DIR``: the directory to hand aiperf's --tokenizer.
    sys.stdout.write(f"{write_tokenizer(Path(sys.argv[1] if len(sys.argv) > 1 else 'tiny-tokenizer'))}\n")
