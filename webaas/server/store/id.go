package store

import (
	"crypto/rand"
	"fmt"
)

// RandomID returns a random UUIDv4 string (122 random bits): the form of
// app, notification, transaction and store ids.
func RandomID() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
