"""Tokenizers trained on a suite's own text (for runners built from a config), cached per corpus and recipe."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # RoBERTa's ids: <s>=0, <pad>=1, </s>=2


def trained_once(recipe: str, texts: Iterable[str], train: Callable[[list[str]], Any]) -> Any:
    """The `tokenizers.Tokenizer` that `train(texts)` returns, cached in $BENCH_CACHE/tokenizers under a digest of
    `recipe` and every text: the next run on the same documents loads it in milliseconds instead of training again
    (training was most of a warm run's data preparation)."""
    from tokenizers import Tokenizer

    from bench.data import cache_dir
    from bench.results.store import atomic_write_text

    texts = list(texts)
    digest = hashlib.sha256(recipe.encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    path = cache_dir() / "tokenizers" / f"{digest.hexdigest()[:32]}.json"
    if path.exists():
        try:
            return Tokenizer.from_file(str(path))
        except Exception:  # a damaged cache entry is trained again and replaced
            pass
    tokenizer = train(texts)
    atomic_write_text(path, tokenizer.to_str())
    return tokenizer


def train_tokenizer(corpus: Callable[[], Iterable[str]], vocab_size: int):
    """A BPE tokenizer (whitespace pre-tokenized) trained on `corpus()`, wrapped for transformers; trained once per
    corpus and vocabulary size, then loaded from the cache."""
    import tokenizers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    def train(texts: list[str]) -> Tokenizer:
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        tok.decoder = decoders.BPEDecoder()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False)
        tok.train_from_iterator(texts, trainer=trainer)
        return tok

    recipe = f"bpe-whitespace/{vocab_size}/{'|'.join(SPECIALS)}/tokenizers-{tokenizers.__version__}"
    tok = trained_once(recipe, corpus(), train)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        cls_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        model_max_length=10**9,
    )
