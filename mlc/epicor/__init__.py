"""epicor"""
