"""Answers: typed results and the extractive, grounded composer."""
