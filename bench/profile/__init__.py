"""`bench profile`: how memory and time per step grow with sequence length, per runner, without fine-tuning.

Importing this package is light (no torch): the measuring worker (`bench.profile.child`) is imported only by the
spawned process that measures one (runner, length).
"""
