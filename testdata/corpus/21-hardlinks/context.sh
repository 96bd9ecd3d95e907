printf same > one && ln one two
