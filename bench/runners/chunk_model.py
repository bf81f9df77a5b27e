"""The hierarchical classifier behind the chunk runners: one shared encoder reads every chunk of a document, the
chunks' first-token representations are pooled (mean or max) and classified. Imported only when a model is built."""

from __future__ import annotations

import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput


class ChunkPoolingClassifier(nn.Module):
    """Input: `input_ids`/`attention_mask` of shape [batch, n_chunks * chunk_length], each document a run of
    chunks that each start with <s> (only the last one shorter, padded by the collator to the chunk boundary).
    Output: logits of shape [batch, n_labels] (and the loss when `labels` are given: cross-entropy for class ids,
    binary cross-entropy per label for the float 0/1 rows of a multi-label suite).

    A plain nn.Module, not a PreTrainedModel: the Trainer saves its state dict and restores the best one with
    `load_best_model_at_end` all the same.

    A shorter document leaves all-padding chunks in the batch, never pooled. Whether they are encoded is a trade:
    skipping them saves their compute, but selecting the present chunks has a data-dependent size, which on a GPU
    makes the host wait for the device every forward pass (the launch queue drains; it biases cost comparisons
    against the fastest runners). With length-grouped batches few chunks are empty, so `skip_empty_chunks=None`
    (the default) skips them only on a CPU, where selecting costs no sync, and encodes every chunk elsewhere.
    The two give the same result.
    """

    def __init__(
        self, encoder: nn.Module, n_labels: int, chunk_length: int, pooling: str, skip_empty_chunks: bool | None = None
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.chunk_length = chunk_length
        self.pooling = pooling
        self.skip_empty_chunks = skip_empty_chunks
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

    def pool(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The documents' pooled chunk vectors, [batch, hidden]: their present chunks' first-token vectors only."""
        batch, length = input_ids.shape
        if length % self.chunk_length:
            raise ValueError(f"sequence length {length} is not a multiple of the chunk length {self.chunk_length}")
        ids = input_ids.reshape(-1, self.chunk_length)
        mask = attention_mask.reshape(-1, self.chunk_length)
        present = mask[:, 0].bool()  # every chunk a document has starts with <s>; empty ones are all padding
        skip = input_ids.device.type == "cpu" if self.skip_empty_chunks is None else self.skip_empty_chunks
        if skip:
            encoded = self.encoder(input_ids=ids[present], attention_mask=mask[present]).last_hidden_state[:, 0]
            chunks = encoded.new_zeros(ids.shape[0], encoded.shape[-1]).masked_scatter(present[:, None], encoded)
        else:
            # An empty chunk's first position is unmasked so that no attention row is fully masked: some attention
            # kernels give NaN there, which would reach the gradients; a present chunk's is unmasked already.
            visible = torch.cat([torch.ones_like(mask[:, :1]), mask[:, 1:]], dim=1)
            chunks = self.encoder(input_ids=ids, attention_mask=visible).last_hidden_state[:, 0]
        chunks = chunks.view(batch, -1, chunks.shape[-1])
        keep = present.view(batch, -1, 1)
        if self.pooling == "max":
            return chunks.masked_fill(~keep, torch.finfo(chunks.dtype).min).amax(dim=1)
        return torch.where(keep, chunks, 0).sum(dim=1) / keep.sum(dim=1).clamp(min=1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor | None = None):
        logits = self.head(self.pool(input_ids, attention_mask))
        if labels is None:
            loss = None
        elif labels.is_floating_point():  # 0/1 rows of a multi-label suite: one sigmoid per label
            loss = nn.functional.binary_cross_entropy_with_logits(logits.float(), labels.float())
        else:
            loss = nn.functional.cross_entropy(logits.float(), labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)
