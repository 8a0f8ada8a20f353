"""County acceptance (seed 002): the 100-point self-score, 追责问责 and the greenhouse registry."""
