"""AI2-THOR's home: where its Unity build lives, the paper's iTHOR targets, the live scene."""
