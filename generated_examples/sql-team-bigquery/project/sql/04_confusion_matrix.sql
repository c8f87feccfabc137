-- Predicted against actual classes on the evaluation split.
SELECT *
FROM ML.CONFUSION_MATRIX(MODEL `acme-analytics.churn_bqml.model`);
