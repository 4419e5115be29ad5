"""anaplan"""
