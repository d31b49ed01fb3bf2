-- journal_done: forget journal records once PostgreSQL holds them: acknowledge
-- them in the archiver group and delete them from the stream, in one step (a
-- record acknowledged but not deleted would stay in the stream for good).
-- KEYS[1] the journal stream of one slot
-- ARGV[1] the consumer group  ARGV[2..] the record ids
-- Returns the number of records deleted.
redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
return redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
