CREATE TABLE greeting (id int PRIMARY KEY, text text NOT NULL);
INSERT INTO greeting VALUES (1, 'hello from initdb.d');
