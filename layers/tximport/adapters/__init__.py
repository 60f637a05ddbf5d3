"""AWS services the domain drives, behind small interfaces (the bucket is in tximport.storage.objects)."""
