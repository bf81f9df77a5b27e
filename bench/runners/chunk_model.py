"""The hierarchical classifier behind the chunk runners: one shared encoder reads every chunk of a document, the
chunks' first-token representations are pooled (mean or max) and classified. Imported only when a model is built."""

from __future__ import annotations

import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput


class ChunkPoolingClassifier(nn.Module):
    """Input: `input_ids`/`attention_mask` of shape [batch, n_chunks * chunk_length], each document a run of
    chunks that each start with <s> (only the last one shorter, padded by the collator to the chunk boundary).
    Output: logits of shape [batch, n_labels] (and the cross-entropy loss when `labels` are given).

    A plain nn.Module, not a PreTrainedModel: the Trainer saves its state dict and restores the best one with
    `load_best_model_at_end` all the same.
    """

    def __init__(self, encoder: nn.Module, n_labels: int, chunk_length: int, pooling: str) -> None:
        super().__init__()
        self.encoder = encoder
        self.chunk_length = chunk_length
        self.pooling = pooling
        config = encoder.config
        hidden, dropout = config.hidden_size, getattr(config, "hidden_dropout_prob", 0.1)
        # RoBERTa's own classification head (dense, tanh, projection), applied to the pooled chunks
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.Tanh(), nn.Dropout(dropout), nn.Linear(hidden, n_labels)
        )
        for layer in self.head:
            if isinstance(layer, nn.Linear):
                nn.init.normal_(layer.weight, std=getattr(config, "initializer_range", 0.02))
                nn.init.zeros_(layer.bias)

    def activation_checkpointing_enable(self, activation_checkpointing_kwargs=None, every_n_layers=1, offload=False):
        """The Trainer's `activation_checkpointing` setting, passed to the encoder."""
        self.encoder.activation_checkpointing_enable(activation_checkpointing_kwargs, every_n_layers, offload)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor | None = None):
        batch, length = input_ids.shape
        if length % self.chunk_length:
            raise ValueError(f"sequence length {length} is not a multiple of the chunk length {self.chunk_length}")
        ids = input_ids.reshape(-1, self.chunk_length)
        mask = attention_mask.reshape(-1, self.chunk_length)
        # A shorter document leaves all-padding chunks in the batch; they are never encoded (no wasted compute,
        # no fully masked attention rows) and never pooled.
        present = mask[:, 0].bool()
        encoded = self.encoder(input_ids=ids[present], attention_mask=mask[present]).last_hidden_state[:, 0]
        chunks = encoded.new_zeros(ids.shape[0], encoded.shape[-1]).masked_scatter(present[:, None], encoded)
        chunks = chunks.view(batch, -1, encoded.shape[-1])
        keep = present.view(batch, -1, 1)
        if self.pooling == "max":
            pooled = chunks.masked_fill(~keep, torch.finfo(chunks.dtype).min).amax(dim=1)
        else:
            pooled = (chunks * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1)
        logits = self.head(pooled)
        loss = nn.functional.cross_entropy(logits.float(), labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)
