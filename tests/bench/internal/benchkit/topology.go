package benchkit

import amqp "github.com/rabbitmq/amqp091-go"

// DeleteTopology deletes queues and exchanges at the broker of url
// (amqp://); missing ones are fine.
func DeleteTopology(url string, queues, exchanges []string) error {
	conn, err := amqp.Dial(url)
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	for _, q := range queues {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			if ch, err = conn.Channel(); err != nil {
				return err
			}
		}
	}
	for _, x := range exchanges {
		if err := ch.ExchangeDelete(x, false, false); err != nil {
			if ch, err = conn.Channel(); err != nil {
				return err
			}
		}
	}
	return ch.Close()
}
