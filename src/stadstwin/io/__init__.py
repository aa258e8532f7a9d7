"""stadstwin.io"""
