"""stadstwin.rules"""
