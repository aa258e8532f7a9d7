"""stadstwin.analyses"""
