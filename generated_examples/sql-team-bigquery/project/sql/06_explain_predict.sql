-- Predictions with the top feature attributions of each row.
SELECT *
FROM ML.EXPLAIN_PREDICT(
  MODEL `acme-analytics.churn_bqml.model`,
  (SELECT * EXCEPT (`churned`) FROM `acme-analytics.churn_bqml.training_data` LIMIT 10),
  STRUCT(3 AS top_k_features)
);
