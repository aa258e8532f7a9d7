"""stadstwin.engines"""
