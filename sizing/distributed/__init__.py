"""Training past one machine: features from partitioned Parquet with Dask DataFrame, boosters through
``lightgbm.dask``, the same :class:`sizing.model.SizeFitModel` artifact as local training.

Only the scheduler address changes between a laptop (``--local-workers N``) and a cluster
(``--scheduler tcp://HOST:PORT``); see docs/scale.md.
"""
