print("twlab")
