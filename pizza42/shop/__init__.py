"""The shop's side: what staff and managers read across customers (the kitchen's board, a day, the figures).

It only reads: the orders domain writes orders, moves them through their lifecycle and keeps the figures.
"""
