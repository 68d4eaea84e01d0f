"""Options several commands share: how text becomes words (``--lang``, ``--tokenizer``)."""

from __future__ import annotations

import argparse

from ..text.tokenize import ALIASES, NAMES

#: the tokenizer ``--lang`` selects for languages written without spaces; others split on whitespace
LANG_TOKENIZERS = {"ja": "mecab"}


def positive_int(text: str) -> int:
    """argparse ``type=`` for options that take a count of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def add_text_options(p: argparse.ArgumentParser) -> None:
    """``--lang`` and ``--tokenizer``; read them back with :func:`tokenizer_from`."""
    p.add_argument(
        "--lang",
        metavar="LANG",
        help="language of the text: 'ja' segments Japanese into words with MeCab + IPADIC "
        "(kotoba[ja]); languages written with spaces need nothing",
    )
    p.add_argument(
        "--tokenizer",
        choices=NAMES + tuple(ALIASES),
        help="how lines become words (overrides --lang): whitespace (default), mecab (MeCab + IPADIC), "
        "mecab-unidic (UniDic's shorter units), char (one token per character)",
    )


def tokenizer_from(args: argparse.Namespace, default: str = "whitespace") -> str:
    """The tokenizer name ``--tokenizer`` / ``--lang`` ask for."""
    if args.tokenizer:
        return args.tokenizer
    if args.lang is None:
        return default
    return LANG_TOKENIZERS.get(args.lang.lower(), "whitespace")
