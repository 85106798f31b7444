"""Analytics: the household simulator, point-in-time training sets, training, evaluation and model roll-out."""
