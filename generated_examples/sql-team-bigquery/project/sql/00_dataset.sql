-- The dataset that holds the model (and the training table when it is loaded from files).
CREATE SCHEMA IF NOT EXISTS `acme-analytics.churn_bqml`
OPTIONS (location = 'us-central1');
