"""stadstwin.model"""
