Main.run()
