package messaging

// SetErasedPerEvent sets how many messages one conversation.messages_deleted
// names, for the test, and returns a function restoring it.
func SetErasedPerEvent(n int) (restore func()) {
	was := erasedPerEvent
	erasedPerEvent = n
	return func() { erasedPerEvent = was }
}
