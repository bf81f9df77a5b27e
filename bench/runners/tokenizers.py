"""Tokenizers trained on a suite's own text (for runners built from a config), cached per corpus and recipe."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.runners.architectures import Architecture

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # RoBERTa's ids: <s>=0, <pad>=1, </s>=2


def trained_once(recipe: str, texts: Iterable[str], train: Callable[[list[str]], Any]) -> Any:
    """The `tokenizers.Tokenizer` that `train(texts)` returns, cached in $BENCH_CACHE/tokenizers under a digest of
    `recipe` and every text: the next run on the same documents loads it in milliseconds instead of training again
    (training was most of a warm run's data preparation)."""
    from tokenizers import Tokenizer

    from bench.data import cache_dir
    from bench.results.files import atomic_write_text

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
    wrapped = PreTrainedTokenizerFast(
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
    return labelled(wrapped, f"trained BPE (whitespace), vocabulary {vocab_size}, on the suite's training text")


def labelled(tokenizer, source: str):
    """`tokenizer`, marked with where it came from (read back by `tokenizer_source` for the run's record)."""
    tokenizer.bench_source = source
    return tokenizer


def tokenizer_source(tokenizer) -> str:
    """Which tokenizer a run used: how it was trained, or the checkpoint (id or folder) it was loaded from."""
    return getattr(tokenizer, "bench_source", None) or str(
        getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
    )


def train_like(corpus: Callable[[], Iterable[str]], architecture: Architecture):
    """A tokenizer of the architecture's family (byte-level BPE or lower-cased WordPiece) with its real vocabulary
    size, trained on `corpus()`, whose special tokens have the real tokenizer's ids: token counts per document come
    out close to the real tokenizer's, and the ids the model's config names (padding, <s>, [CLS], ...) mean what
    they mean there. Trained once per corpus and architecture, then loaded from the cache."""
    import tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = {token: i for token, i in architecture.special_tokens.values()}
    size = architecture.vocab_size

    def train(texts: list[str]):
        from tokenizers import Tokenizer

        trained = _family_tokenizer(architecture, size, list(specials), texts)
        return Tokenizer.from_str(json.dumps(_with_ids(json.loads(trained.to_str()), specials, size)))

    recipe = (
        f"{architecture.tokenizer_kind}/{size}/lower={architecture.lowercase}/{sorted(specials.items())}"
        f"/tokenizers-{tokenizers.__version__}"
    )
    tok = trained_once(recipe, corpus(), train)
    roles = {f"{role}_token": token for role, (token, _) in architecture.special_tokens.items()}
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=10**9, **roles)
    kind = "byte-level BPE" if architecture.tokenizer_kind == "byte-level-bpe" else "lower-cased WordPiece"
    learned = len(tok.get_vocab())
    return labelled(
        wrapped,
        f"trained {kind}, vocabulary {size} ({learned} learned), on the suite's training text "
        f"(stand-in for {architecture.model_id}'s)",
    )


def _family_tokenizer(architecture: Architecture, size: int, specials: list[str], texts: list[str]):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    if architecture.tokenizer_kind == "wordpiece":
        unk = architecture.special_tokens.get("unk", ("[UNK]", 0))[0]
        tok = Tokenizer(models.WordPiece(unk_token=unk))
        tok.normalizer = normalizers.BertNormalizer(lowercase=architecture.lowercase)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=size, special_tokens=specials, show_progress=False)
    else:
        tok = Tokenizer(models.BPE())
        if architecture.lowercase:
            tok.normalizer = normalizers.Lowercase()
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
        trainer = trainers.BpeTrainer(
            vocab_size=size, special_tokens=specials, initial_alphabet=alphabet, show_progress=False
        )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def _with_ids(spec: dict[str, Any], specials: dict[str, int], size: int) -> dict[str, Any]:
    """A serialized tokenizer with its special tokens moved to the given ids (ModernBERT's sit at 50280-50284, at
    the end of its vocabulary) and every other token, in trained order, on the ids left free below `size`."""
    taken = set(specials.values())
    free = (i for i in range(size) if i not in taken)
    vocab = spec["model"]["vocab"]
    ordered = sorted(vocab.items(), key=lambda item: item[1])
    spec["model"]["vocab"] = {token: specials[token] if token in specials else next(free) for token, _ in ordered}
    for added in spec.get("added_tokens", []):
        added["id"] = spec["model"]["vocab"][added["content"]]
    return spec
