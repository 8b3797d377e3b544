print("loopai")
