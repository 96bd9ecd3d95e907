#!/bin/sh
echo "$GREETING from kiln ($(cat /app/stamp))"
