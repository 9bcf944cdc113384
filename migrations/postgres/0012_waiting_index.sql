-- The safety sweep reads waiting leads in id order on every node, one node or a cluster.
CREATE INDEX leads_waiting ON leads(id) WHERE state = 'waiting';
