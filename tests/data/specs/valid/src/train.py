# Placeholder training script: the valid specs only need `code: src` to exist.
print("accuracy=0.5")
