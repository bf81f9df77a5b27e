"""Results: the record schema (`schema`) and the files on disk (`store`). Torch-free, so reports render anywhere."""
