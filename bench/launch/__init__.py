"""Launching work: one job in a fresh process (`local`), and a suite's sweep of runs (`sweep`)."""
