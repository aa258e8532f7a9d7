"""stadstwin.build"""
