"""Optional generative answers: a LangChain chat model writes the answer from the retrieved slides, and a guard
accepts it only when every figure and citation is grounded (else the extractive answer is shown)."""
