#!/bin/sh
# The example app of examples/build-test-deploy.json: it prints its greeting
# (greeting.txt beside it, written by the pipeline's build from the GREETING
# variable).
echo "$(cat "$(dirname "$0")/greeting.txt"), world"
