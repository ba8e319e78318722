"""Watching the model after it ships: capture of predictions and ground truth, and the drift report."""
